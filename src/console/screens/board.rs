//! The wallboard's big numbers and top incidents.
