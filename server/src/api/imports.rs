//! Imports of another helpdesk's history, for the account's admins:
//! `POST /imports` (multipart) uploads a file and answers the run with its
//! dry run; `PUT /imports/{id}/mapping` plans again with the mapping
//! screen's choices; `POST /imports/{id}/apply` starts it in the background
//! (its progress reaches the account's admins over the WebSocket as
//! `import_progress` frames); `POST /imports/{id}/cancel` stops it after
//! the batch it is writing. Applying a run that was cancelled or
//! interrupted resumes it from its checkpoint.

use axum::{
    Json,
    extract::{Multipart, State, multipart::MultipartRejection},
    http::StatusCode,
};
use bytes::BytesMut;
use domain::{
    attachments::Files,
    import::{self, Format, Mapping, Run, service},
    types::AccountId,
};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use super::{ApiActor, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};

/// The largest import file this server takes (`IMPORT_MAX_BYTES`, default
/// [`import::MAX_FILE_BYTES`]); larger uploads get 413.
#[derive(Debug, Clone, Copy)]
pub struct ImportLimit(pub u64);

impl ImportLimit {
    /// The most any configuration allows.
    pub const HARD: Self = Self(import::MAX_FILE_BYTES);

    /// The route's body limit: the file plus room for the form's framing.
    pub fn body_limit(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX).saturating_add(64 * 1024)
    }
}

/// What is uploaded, in the query: who may write is decided before a
/// byte of the body is read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// deskpro, zendesk, chatwoot, jsonl or csv.
    pub format: Format,
    /// The account to import into (default: the caller's own).
    pub account_id: Option<AccountId>,
    /// The namespace of the file's ids (default: the format's name).
    pub source: Option<String>,
}

/// The upload form.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ImportForm {
    /// The export file, with its name.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Uploads an export and answers its dry run (`plan`): what applying
/// would create, match and skip, with the reason for each skip, how each
/// group maps to a support type and how each agent is resolved. Nothing
/// is imported until `apply`. Admins of the account.
#[utoipa::path(post, path = "/api/v1/imports", tag = "imports", params(UploadQuery),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Run),
        (status = 413, description = "Larger than the server's import limit, which the message names (`too_large`).", body = super::error::ErrorBody),
        (status = 422, description = "A file that is not of the format named: the message says what is missing (field `file`).", body = super::error::ErrorBody)))]
pub async fn create(
    State(pool): State<PgPool>,
    State(files): State<Files>,
    State(limit): State<ImportLimit>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<UploadQuery>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Run>)> {
    // Who may write here, before a byte of the file is read.
    service::staff_only(&actor)?;
    let account = actor.target_account(q.account_id)?;
    actor.require_admin_of(account, "imports")?;
    let too_large = || {
        domain::Error::too_large(
            limit.0,
            format!("an import file is at most {}", domain::attachments::bytes_label(limit.0 as i64)),
        )
    };
    let unreadable = |e: axum::extract::multipart::MultipartError| -> ApiError {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large().into()
        } else {
            ApiError::BadRequest(format!("the multipart form cannot be read: {}", e.body_text()))
        }
    };
    let mut multipart = multipart.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut file = None;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        if field.name() != Some("file") {
            continue;
        }
        if file.is_some() {
            return Err(ApiError::BadRequest("send one file per request, in the form field \"file\"".into()));
        }
        let file_name = field.file_name().unwrap_or("upload").to_owned();
        let mut bytes = BytesMut::new();
        let mut over = false;
        while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
            // Past the limit, read on without keeping anything, so that the
            // client gets the 413 rather than a reset connection.
            over |= (bytes.len() + chunk.len()) as u64 > limit.0;
            if !over {
                bytes.extend_from_slice(&chunk);
            }
        }
        if over {
            return Err(too_large().into());
        }
        file = Some((file_name, bytes.freeze()));
    }
    let (file_name, bytes) =
        file.ok_or_else(|| ApiError::BadRequest("the form has no field \"file\" with a file in it".into()))?;
    let upload = service::Upload { account, format: q.format, source: q.source, file_name, bytes };
    Ok((StatusCode::CREATED, Json(service::create(&pool, &files, &actor, upload).await?)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListImports {
    /// The account (default: the caller's own).
    pub account_id: Option<AccountId>,
}

/// The account's import runs, newest first. Admins of the account.
#[utoipa::path(get, path = "/api/v1/imports", tag = "imports", params(ListImports),
    responses((status = 200, body = Vec<Run>)))]
pub async fn list(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ListImports>,
) -> ApiResult<Json<Vec<Run>>> {
    Ok(Json(service::list(&pool, &actor, q.account_id).await?))
}

/// One run: its plan, progress, counts and first skips. Admins of the account.
#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "imports", params(("id" = Uuid, Path)),
    responses((status = 200, body = Run)))]
pub async fn get(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> ApiResult<Json<Run>> {
    Ok(Json(import::run::get(&pool, &actor, id).await?))
}

/// Plans the run again with the mapping screen's choices (groups to
/// support types, agents to agents, what to do with unmatched agents).
/// Not while it runs (409 `import_running`).
#[utoipa::path(put, path = "/api/v1/imports/{id}/mapping", tag = "imports", params(("id" = Uuid, Path)),
    request_body = Mapping, responses((status = 200, body = Run), (status = 409, body = super::error::ErrorBody)))]
pub async fn set_mapping(
    State(pool): State<PgPool>,
    State(files): State<Files>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(mapping): ApiJson<Mapping>,
) -> ApiResult<Json<Run>> {
    Ok(Json(service::set_mapping(&pool, &files, &actor, id, mapping).await?))
}

/// Starts the run in the background (or resumes a cancelled or interrupted
/// one from its checkpoint) and answers at once; follow it with
/// `GET /imports/{id}` or the WebSocket's `import_progress` frames. 409
/// `import_running` while another import into the account runs.
#[utoipa::path(post, path = "/api/v1/imports/{id}/apply", tag = "imports", params(("id" = Uuid, Path)),
    responses((status = 202, body = Run), (status = 409, body = super::error::ErrorBody)))]
pub async fn apply(
    State(pool): State<PgPool>,
    State(files): State<Files>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> ApiResult<(StatusCode, Json<Run>)> {
    Ok((StatusCode::ACCEPTED, Json(service::apply(&pool, &files, &actor, id).await?)))
}

/// Stops the run after the batch it is writing; applying it again resumes
/// it. 409 `import_finished` once it has completed.
#[utoipa::path(post, path = "/api/v1/imports/{id}/cancel", tag = "imports", params(("id" = Uuid, Path)),
    responses((status = 200, body = Run), (status = 409, body = super::error::ErrorBody)))]
pub async fn cancel(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> ApiResult<Json<Run>> {
    import::run::cancel(&pool, &actor, id).await?;
    Ok(Json(import::run::get(&pool, &actor, id).await?))
}
