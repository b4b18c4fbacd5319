//! Certificate templates from `scepd.toml` (`[[templates]]`): their form, defaults and
//! validation are the policy crate's ([`policy::template_config`]); the configuration names them
//! here.

pub use policy::template_config::{
    TemplateConfig, TemplateConfigError as TemplateError, build_templates as build,
};
