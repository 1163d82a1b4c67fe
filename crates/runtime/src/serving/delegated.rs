//! Delegated authentication and authorization: the API server says who a bearer token is
//! (TokenReview) and whether that user may do what is asked (SubjectAccessReview on a
//! non-resource URL). Answers are kept for 10 s, as upstream's delegating authenticator and
//! authorizer cache them, so a scraper every second costs the API two reviews every 10 s.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec, UserInfo};
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::PostParams;
use kube::{Api, Client};

const KEPT_FOR: Duration = Duration::from_secs(10);
/// Answers kept at most; past that the oldest are not worth finding: all go.
const KEPT_AT_MOST: usize = 1024;

#[derive(Debug, Clone)]
pub enum Decision {
    Allowed,
    /// No token, or one the API server does not know.
    Unauthenticated,
    /// Who the caller is, and that they may not.
    Forbidden(String),
    /// The API server could not be asked.
    Failed(String),
}

/// A token, a verb and a path: what one decision is about.
type Question = (String, &'static str, String);

pub struct Reviewer {
    client: Client,
    kept: Mutex<HashMap<Question, (Instant, Decision)>>,
}

impl Reviewer {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            kept: Mutex::default(),
        }
    }

    /// Whether the bearer of `token` may `verb` the non-resource URL `path`.
    pub async fn decide(&self, token: Option<&str>, verb: &'static str, path: &str) -> Decision {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Decision::Unauthenticated;
        };
        let key = (token.to_owned(), verb, path.to_owned());
        if let Some((at, decision)) = self.kept.lock().expect("reviews").get(&key)
            && at.elapsed() < KEPT_FOR
        {
            return decision.clone();
        }
        let decision = self.review(token, verb, path).await;
        if !matches!(decision, Decision::Failed(_)) {
            let mut kept = self.kept.lock().expect("reviews");
            if kept.len() >= KEPT_AT_MOST {
                kept.clear();
            }
            kept.insert(key, (Instant::now(), decision.clone()));
        }
        decision
    }

    async fn review(&self, token: &str, verb: &str, path: &str) -> Decision {
        let user = match authenticate(&self.client, token).await {
            Ok(Some(user)) => user,
            Ok(None) => return Decision::Unauthenticated,
            Err(error) => return Decision::Failed(format!("TokenReview: {error}")),
        };
        let access = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: user.username.clone(),
                groups: user.groups,
                uid: user.uid,
                extra: user.extra,
                non_resource_attributes: Some(NonResourceAttributes {
                    path: Some(path.to_owned()),
                    verb: Some(verb.to_owned()),
                }),
                ..SubjectAccessReviewSpec::default()
            },
            ..SubjectAccessReview::default()
        };
        match Api::<SubjectAccessReview>::all(self.client.clone())
            .create(&PostParams::default(), &access)
            .await
        {
            Ok(answer) if answer.status.as_ref().is_some_and(|s| s.allowed) => Decision::Allowed,
            Ok(_) => Decision::Forbidden(user.username.unwrap_or_default()),
            Err(error) => Decision::Failed(format!("SubjectAccessReview: {error}")),
        }
    }
}

/// Who the API server says the bearer of `token` is (`None`: nobody it knows).
pub async fn authenticate(client: &Client, token: &str) -> Result<Option<UserInfo>, kube::Error> {
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: Some(token.to_owned()),
            audiences: None,
        },
        ..TokenReview::default()
    };
    let reviewed = Api::<TokenReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await?;
    Ok(reviewed
        .status
        .filter(|s| s.authenticated == Some(true))
        .and_then(|s| s.user))
}
