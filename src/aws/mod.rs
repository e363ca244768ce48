//! Everything that talks to AWS: credentials, endpoints, signing, the transport with its
//! retries and pacing, and pagination. Nothing here knows about the cache.

pub(crate) mod credentials;
pub(crate) mod endpoint;
pub(crate) mod http;
pub(crate) mod keys;
pub(crate) mod paginate;
pub(crate) mod ratelimit;
pub(crate) mod retry;
pub(crate) mod s3;
pub(crate) mod service;
pub(crate) mod session;
pub(crate) mod shared_config;
pub(crate) mod sigv4;
pub(crate) mod transport;
pub(crate) mod xml;
