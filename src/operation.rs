//! [`Operation`]: what a typed request tells [`Client::execute`](crate::Client) about its
//! endpoint, so that every handle method is the same one line.

use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::error::Result;
use crate::spec::Endpoint;

/// A request to one endpoint: serialised as its JSON body (POST) or its query (GET).
pub(crate) trait Operation: Serialize {
    /// The endpoint's row in the table: path, method, idempotency.
    const ENDPOINT: &'static Endpoint;
    /// What the handle method returns.
    type Response: Decode;
    /// The documented rules; nothing is sent when one fails.
    fn validate(&self) -> Result<()>;
}

/// How an answer becomes a [`Operation::Response`]: decoded as it is, or `()` for an answer
/// with nothing but errcode.
pub(crate) trait Decode: Sized {
    /// What the answer's JSON is decoded into.
    type Wire: DeserializeOwned;
    /// The response from it.
    fn decode(wire: Self::Wire) -> Self;
}

impl Decode for () {
    type Wire = IgnoredAny;
    fn decode(_: IgnoredAny) {}
}

/// `Decode` for response types that are the answer's JSON as it is (a blanket impl would
/// collide with `()`, which serde also decodes, but only from `null`).
macro_rules! decoded_as_is {
    ($($response:ty),+ $(,)?) => {
        $(impl $crate::operation::Decode for $response {
            type Wire = Self;
            fn decode(wire: Self) -> Self {
                wire
            }
        })+
    };
}
pub(crate) use decoded_as_is;
