//! The edge of TradeAssist: HTTP API, CLI and configuration. This is the only crate that knows
//! HTTP, JSON and argv; it maps them onto the use cases of `tradeassist-service`.

pub mod api;
pub mod auth;
pub mod child;
pub mod cli;
pub mod config;
pub mod demo;
pub mod export;
pub mod http;
pub mod jobs;
pub mod logging;
pub mod output;
pub mod ws;
