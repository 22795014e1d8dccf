//! Every byte string is either a decoded envelope or a precise rejection;
//! the decoder never panics, and whatever it accepts re-encodes to
//! something it accepts again, unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigie::bus::envelope::{decode, decode_on, encode};

fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Ok(env) => {
            let again = decode(&encode(&env)).expect("our own encoding decodes");
            assert_eq!(again, env);
            let _ = decode_on(&env.subject(), data);
        }
        Err(e) => {
            assert!(!e.reason().is_empty());
            let _ = e.to_string();
        }
    }
});
