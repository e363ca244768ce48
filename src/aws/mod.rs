//! Everything that talks to AWS: credentials, endpoints, signing, the transport with its
//! retries and pacing, and pagination. Nothing here knows about the cache.

pub mod credentials;
pub mod endpoint;
pub mod http;
pub mod keys;
pub mod paginate;
pub mod ratelimit;
pub mod retry;
pub mod service;
pub mod session;
pub mod shared_config;
pub mod sigv4;
pub mod transport;
