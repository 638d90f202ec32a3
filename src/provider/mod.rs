//! Service providers (服务商): third-party and 代开发 apps that serve many authorised corps.

pub mod codes;
