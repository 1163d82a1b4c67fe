//! PodTemplates: the defaults and rules of the pod spec they hold.

use super::Strategy;

pub static STRATEGY: Strategy = Strategy {
    defaults: |template| crate::defaults::pod_spec(&mut template["template"]["spec"]),
    validate: |template, errors| {
        crate::validation::pod_spec(&template["template"]["spec"], "template.spec", errors);
    },
    ..Strategy::DEFAULT
};
