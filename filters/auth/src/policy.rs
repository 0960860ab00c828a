//! The policy: the configuration (`config`), the requirement tree over the
//! methods (`requirement`) and the decision for one request (`decide`).

pub mod config;
pub mod decide;
pub mod requirement;
