//! What the OpenAPI document says beyond each handler's own responses: the bearer token, and
//! the statuses every route can answer because of the layers around it (auth, limits, body
//! extraction), so that a client — or an API fuzzer — meets no undocumented status.

use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// Name of the bearer security scheme in the document.
const BEARER: &str = "bearer";

/// Adds the bearer scheme and the layer statuses to every operation.
pub struct LayerStatuses;

impl Modify for LayerStatuses {
    fn modify(&self, openapi: &mut OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                BEARER,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(
                            "An API token (`tradeassist token create`); not needed when the \
                             server runs in open mode",
                        ))
                        .build(),
                ),
            );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let api = path.starts_with("/api/");
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                document(op, api);
            }
        }
    }
}

fn document(op: &mut Operation, api: bool) {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
    let has_input = !params.is_empty() || op.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(description));
    };
    if api {
        add("401", "No token, or an unknown or revoked token");
        add("403", "The token's role does not allow this route");
        add(
            "429",
            "Rate limit of the client's address or token reached (`Retry-After` header)",
        );
        add("503", "The server is at its limit of concurrent requests");
        add(
            "504",
            "The request took longer than the server's request timeout",
        );
        add(
            "500",
            "Server fault; the answer carries the request id to quote",
        );
    }
    if has_input {
        add(
            "400",
            "A parameter or the body could not be read (malformed JSON, a value of the wrong type)",
        );
        add("422", "The request is well formed but invalid");
    }
    if has_path || has_input {
        add("404", "No such resource, or an unknown symbol");
    }
    if op.request_body.is_some() {
        add("413", "The body is larger than the server accepts");
        add("415", "The body is not `application/json`");
    }
    if api {
        op.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}
