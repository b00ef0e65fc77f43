//! Test set-ups shared by more than one suite.

#![allow(dead_code)]

pub mod aws;
pub mod hr_vendors;
