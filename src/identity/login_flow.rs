//! Login interception flow.
