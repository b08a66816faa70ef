//! Attachments: `POST /sessions/{id}/attachments` (multipart), their bytes
//! and thumbnails at `/attachments/{id}` (for callers who may see the
//! session, or through a signed link), and each account's limits.
//!
//! Every file is served so that a browser cannot run it: `nosniff`, a CSP
//! of `sandbox; default-src 'none'`, and `Content-Disposition: attachment`
//! for everything but raster images.

use axum::{
    Json,
    body::Body,
    extract::{Multipart, State, multipart::MultipartRejection},
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use bytes::{Bytes, BytesMut};
use domain::{
    attachments::{self, Attachment, AttachmentLink, AttachmentPolicy, Files, NewUpload, Variant},
    types::{AccountId, AttachmentId, SessionId},
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use super::{ApiActor, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, error::ErrorBody};

/// The largest body the upload route reads at all, whatever an account
/// allows (the highest policy limit plus room for the form's framing).
pub const UPLOAD_BODY_LIMIT: usize = 100 * 1024 * 1024 + 64 * 1024;

/// The upload form.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// One file, with its name. Its type is sniffed from the bytes.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Uploads one file into a session, to be referenced by a message
/// (`attachment_ids` of `POST /sessions/{id}/messages`) within a day. The
/// caller must be able to write into the session. The type is sniffed from
/// the bytes and must match the file's name; the account's limits apply.
/// When the server scans uploads (`CLAMD_ADDR`), malware is refused (422,
/// field `file`), and nothing is stored while the scanner cannot answer (503).
#[utoipa::path(post, path = "/api/v1/sessions/{id}/attachments", tag = "conversation", params(("id" = Uuid, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Attachment), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, description = "Larger than the account's limit, which the message names (`too_large`).", body = ErrorBody),
        (status = 415, description = "A type the account does not accept, or bytes that do not match the file's name or declared type; the message names the type (`unsupported_type`).", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn upload(
    State(pool): State<PgPool>,
    State(files): State<Files>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<SessionId>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Attachment>)> {
    // Who may write here, and how much, before a byte of the body is read.
    let limit = usize::try_from(attachments::upload_limit(&pool, &actor, id).await?).unwrap_or(usize::MAX);
    let upload = read_upload(multipart, limit).await?;
    let attachment = attachments::upload(&pool, &files, &actor, id, upload).await?;
    Ok((StatusCode::CREATED, Json(attachment)))
}

/// Reads the one file of an upload form, keeping at most `limit` bytes (a
/// larger file is a 413 naming the limit, once the body has been read).
async fn read_upload(multipart: Result<Multipart, MultipartRejection>, limit: usize) -> ApiResult<NewUpload> {
    let mut multipart = multipart.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut upload = None;
    while let Some(mut field) = multipart.next_field().await.map_err(bad_form)? {
        if field.name() != Some("file") {
            continue;
        }
        if upload.is_some() {
            return Err(ApiError::BadRequest("send one file per request, in the form field \"file\"".into()));
        }
        let file_name = field
            .file_name()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::BadRequest("the form field \"file\" has no filename".into()))?;
        let declared_type = field.content_type().map(str::to_owned);
        let mut bytes = BytesMut::new();
        let mut over = false;
        while let Some(chunk) = field.chunk().await.map_err(bad_form)? {
            // Past the limit, read on without keeping anything, so that the
            // client gets the 413 rather than a reset connection.
            over |= bytes.len() + chunk.len() > limit;
            if !over {
                bytes.extend_from_slice(&chunk);
            }
        }
        if over {
            return Err(attachments::too_large(limit as i64).into());
        }
        upload = Some(NewUpload { file_name, declared_type, bytes: bytes.freeze() });
    }
    upload.ok_or_else(|| ApiError::BadRequest("the form has no field \"file\" with a file in it".into()))
}

/// Stages a file for a blast of the account (its admins): the one file that
/// every recipient's message will carry, named by `attachment_id` in `POST
/// /blasts` within a day. The same checks and limits as a session's upload.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/attachments", tag = "blasts", params(("id" = Uuid, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Attachment), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 413, description = "Larger than the account's limit, which the message names (`too_large`).", body = ErrorBody),
        (status = 415, description = "A type the account does not accept, or bytes that do not match the file's name or declared type (`unsupported_type`).", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn stage_for_blast(
    State(pool): State<PgPool>,
    State(files): State<Files>,
    ApiActor(actor): ApiActor,
    ApiPath(account): ApiPath<AccountId>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Attachment>)> {
    let limit = attachments::blast_upload_limit(&pool, &actor, account).await?;
    let upload = read_upload(multipart, usize::try_from(limit).unwrap_or(usize::MAX)).await?;
    let attachment = attachments::stage_for_blast(&pool, &files, &actor, account, upload).await?;
    Ok((StatusCode::CREATED, Json(attachment)))
}

/// A multipart body that cannot be read is a 400, unless it is over the
/// route's limit.
fn bad_form(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return attachments::too_large(UPLOAD_BODY_LIMIT as i64).into();
    }
    ApiError::BadRequest(format!("the multipart form cannot be read: {}", e.body_text()))
}

/// A signed link's parameters (from `GET /attachments/{id}/links`). Without
/// them the caller authenticates as usual.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedQuery {
    /// Unix seconds after which the link no longer works.
    pub expires: Option<i64>,
    /// The link's signature.
    pub signature: Option<String>,
}

/// The file's bytes, for callers who may see its session (a message carries
/// it, or they uploaded it), or through a signed link. Raster images are
/// served inline; everything else as a download.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "conversation", params(("id" = Uuid, Path), SignedQuery),
    responses((status = 200, description = "The file's bytes, with its sniffed type.", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, description = "The signed link has expired.", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn download(
    State(pool): State<PgPool>,
    State(files): State<Files>,
    actor: Result<ApiActor, ApiError>,
    ApiPath(id): ApiPath<AttachmentId>,
    ApiQuery(signed): ApiQuery<SignedQuery>,
) -> ApiResult<Response> {
    serve(&pool, &files, actor, id, signed, Variant::File).await
}

/// The thumbnail of a raster image (at most 320 pixels on its longer side).
#[utoipa::path(get, path = "/api/v1/attachments/{id}/thumbnail", tag = "conversation", params(("id" = Uuid, Path), SignedQuery),
    responses((status = 200, description = "A PNG or JPEG thumbnail.", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, description = "The signed link has expired.", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn thumbnail(
    State(pool): State<PgPool>,
    State(files): State<Files>,
    actor: Result<ApiActor, ApiError>,
    ApiPath(id): ApiPath<AttachmentId>,
    ApiQuery(signed): ApiQuery<SignedQuery>,
) -> ApiResult<Response> {
    serve(&pool, &files, actor, id, signed, Variant::Thumbnail).await
}

/// Signed links to the file and its thumbnail, valid for an hour: for an
/// `<img src>` or a download link, where no `Authorization` header goes.
#[utoipa::path(get, path = "/api/v1/attachments/{id}/links", tag = "conversation", params(("id" = Uuid, Path)),
    responses((status = 200, body = AttachmentLink), (status = 404, body = ErrorBody)))]
pub async fn links(
    State(pool): State<PgPool>,
    State(files): State<Files>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<AttachmentId>,
) -> ApiResult<Json<AttachmentLink>> {
    Ok(Json(attachments::links(&pool, &files, &actor, id, chrono::Utc::now()).await?))
}

async fn serve(
    pool: &PgPool,
    files: &Files,
    actor: Result<ApiActor, ApiError>,
    id: AttachmentId,
    signed: SignedQuery,
    variant: Variant,
) -> ApiResult<Response> {
    let (attachment, bytes) = match (signed.expires, signed.signature) {
        (Some(expires), Some(signature)) => {
            attachments::open_signed(pool, files, id, variant, expires, &signature, chrono::Utc::now())
                .await?
        }
        _ => attachments::open(pool, files, &actor?.0, id, variant).await?,
    };
    let content_type = match variant {
        Variant::File => attachment.content_type.as_str(),
        Variant::Thumbnail => attachments::thumbnail_type(&attachment.content_type),
    };
    file_response(&attachment, content_type, bytes)
}

/// Characters kept as they are in an RFC 5987 `filename*` value.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `inline` or `attachment`, with the name as ASCII and as UTF-8.
fn content_disposition(inline: bool, file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let encoded = utf8_percent_encode(file_name, ATTR_CHAR);
    format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}",
        if inline { "inline" } else { "attachment" }
    )
}

fn file_response(attachment: &Attachment, content_type: &str, bytes: Bytes) -> ApiResult<Response> {
    let header = |v: &str| {
        HeaderValue::from_str(v)
            .map_err(|e| ApiError::Domain(domain::Error::internal("attachment header", e)))
    };
    let mut response = Response::new(Body::from(bytes));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, header(content_type)?);
    h.insert(
        header::CONTENT_DISPOSITION,
        header(&content_disposition(attachment.inline(), &attachment.file_name))?,
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    h.insert(header::ETAG, header(&format!("\"{}\"", attachment.sha256))?);
    Ok(response)
}

/// The account's attachment limits.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/attachment-policy", tag = "accounts", params(("id" = Uuid, Path)),
    responses((status = 200, body = AttachmentPolicy), (status = 404, body = ErrorBody)))]
pub async fn policy(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<AccountId>,
) -> ApiResult<Json<AttachmentPolicy>> {
    Ok(Json(attachments::policy(&pool, &actor, id).await?))
}

/// Sets the account's attachment limits (its admins).
#[utoipa::path(put, path = "/api/v1/accounts/{id}/attachment-policy", tag = "accounts", params(("id" = Uuid, Path)),
    request_body = AttachmentPolicy,
    responses((status = 200, body = AttachmentPolicy), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn set_policy(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<AccountId>,
    ApiJson(policy): ApiJson<AttachmentPolicy>,
) -> ApiResult<Json<AttachmentPolicy>> {
    Ok(Json(attachments::set_policy(&pool, &actor, id, policy).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_quoted_safely_in_both_forms() {
        assert_eq!(
            content_disposition(false, "report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        assert_eq!(
            content_disposition(true, "Été \"1\".png"),
            "inline; filename=\"_t_ _1_.png\"; filename*=UTF-8''%C3%89t%C3%A9%20%221%22.png"
        );
    }
}
