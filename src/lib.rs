pub mod bus;
pub mod domain;
pub mod rules;
pub mod sim;
pub mod store;
pub mod worker;
