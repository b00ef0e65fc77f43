//! Clients for HR systems' APIs. Webhooks from most HR systems are hints ("employee 123
//! changed"); these clients fetch what is actually true, for intake and for the periodic
//! reconcile. Each implements [`passage_core::ports::HrSource`].

pub mod bamboohr;
pub mod hibob;
pub mod merge;
pub mod personio;
