pub mod bench;
pub mod demo;
pub mod link;
pub mod operate;
pub mod runs;
pub mod sandbox;
pub mod serve;
pub mod verify;
