//! Entering and leaving the full-screen terminal. The guard restores the
//! terminal when dropped, and a panic hook restores it before the panic
//! message prints, so a crash never leaves a raw, cursorless shell.

use std::io::{self, Stdout, stdout};
use std::sync::Once;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

/// Puts the terminal back: cooked mode, main screen, visible cursor, the
/// mouse released (harmless when it was never taken).
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        Show
    );
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// Puts `text` on the clipboard of the terminal the console runs in, over
/// SSH too (OSC 52; tmux passes it on with `set-clipboard on`).
pub fn copy(text: &str) {
    use std::io::Write as _;
    let mut out = stdout();
    let _ = out.write_all(osc52(text).as_bytes());
    let _ = out.flush();
}

/// The OSC 52 sequence that sets the clipboard to `text`.
pub fn osc52(text: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("\u{1b}]52;c;{b64}\u{7}")
}

/// The full-screen terminal, restored on drop.
pub struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen, taking the mouse if asked.
    pub fn enter(mouse: bool) -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        // Clearing through crossterm, not `Terminal::clear`, which asks the
        // terminal for the cursor position: a round trip over SSH, and an
        // error on terminals that never answer.
        // Bracketed paste: a pasted text arrives whole, never as keys.
        let setup = execute!(
            stdout(),
            EnterAlternateScreen,
            Hide,
            Clear(ClearType::All),
            EnableBracketedPaste
        )
        .and_then(|()| {
            if mouse {
                execute!(stdout(), EnableMouseCapture)
            } else {
                Ok(())
            }
        })
        .and_then(|()| Terminal::new(CrosstermBackend::new(stdout())));
        match setup {
            Ok(terminal) => Ok(Self { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    /// The terminal to draw on.
    pub fn terminal(&mut self) -> &mut Terminal<CrosstermBackend<Stdout>> {
        &mut self.terminal
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}
