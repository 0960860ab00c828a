//! The policy: the configuration (`config`), the requirement tree over the
//! methods (`requirement`), what its leaves yield (`outcome`) and the
//! decision for one request (`decide`).

pub mod config;
pub mod decide;
pub mod outcome;
pub mod requirement;
