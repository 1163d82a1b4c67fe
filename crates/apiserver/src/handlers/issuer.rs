//! Service-account issuer discovery: the OIDC configuration and the keys that sign tokens (404
//! when this server issues no tokens).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use k0rs_api::Status;

use crate::context::Context;
use crate::http::status_response;

pub async fn openid_configuration(State(context): State<Arc<Context>>) -> Response {
    let Some(tokens) = &context.tokens else {
        return status_response(&Status::not_found_path("/.well-known/openid-configuration"));
    };
    Json(serde_json::json!({
        "issuer": tokens.issuer(),
        "jwks_uri": format!("https://{}/openid/v1/jwks", context.advertise_address),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
    .into_response()
}

pub async fn jwks(State(context): State<Arc<Context>>) -> Response {
    match &context.tokens {
        Some(tokens) => Json(tokens.jwks()).into_response(),
        None => status_response(&Status::not_found_path("/openid/v1/jwks")),
    }
}
