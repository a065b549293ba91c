//! Team analytics: refusal analytics (R8), the funnel and speed to lead.

pub mod currencies;
pub mod funnel;
pub mod refusals;
