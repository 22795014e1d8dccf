use clap::Parser;

// mimalloc: the worker allocates many small, short-lived values per message;
// glibc's allocator spent a fifth of the ingest time in its free lists.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = vigie::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vigie: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(vigie::cli::run(cli)) {
        Ok(code) => std::process::ExitCode::from(code),
        // Output piped into `head` and closed early is not a failure.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            // Errors quote what came from outside (a bundle's keys, a
            // server's words, a URL): display-safe, and no secret in them.
            let text = vigie::domain::redact::redact_text(&format!("{e:#}"));
            eprintln!("vigie: {}", vigie::domain::SafeBlock::new(&text));
            std::process::ExitCode::FAILURE
        }
    }
}
