//! Reliable delivery of events from a sensor to a viewer.
//!
//! TODO: batch format, HMAC, spool, sender and receiver.
