//! One file posted as a multipart form with its upload progress, for every
//! upload of the browser: chat attachments and import files.

/// Posts `file` in the form field `file` to `url` (with the chat token as a
/// bearer when given). `progress` hears the share sent so far (0 to 1);
/// `done` hears once the body of a 201, or a sentence saying what went
/// wrong: the API's own message, or why the server could not be reached.
#[cfg(feature = "hydrate")]
pub fn post_file(
    url: &str,
    file: &web_sys::File,
    bearer: Option<String>,
    progress: impl Fn(f64) + 'static,
    done: impl FnOnce(Result<String, String>) + 'static,
) {
    use wasm_bindgen::{JsCast, closure::Closure};
    const CANNOT: &str = "This browser cannot upload files.";
    let (Ok(xhr), Ok(form)) = (web_sys::XmlHttpRequest::new(), web_sys::FormData::new()) else {
        return done(Err(CANNOT.to_owned()));
    };
    if xhr.open_with_async("POST", url, true).is_err()
        || form.append_with_blob_and_filename("file", file, &file.name()).is_err()
    {
        return done(Err(CANNOT.to_owned()));
    }
    if let Some(token) = bearer {
        let _ = xhr.set_request_header("Authorization", &format!("Bearer {token}"));
    }
    let on_progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |ev: web_sys::ProgressEvent| {
        if ev.length_computable() && ev.total() > 0.0 {
            progress(ev.loaded() / ev.total());
        }
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    let answered = xhr.clone();
    // `done` may run from here or from `loadend`, whichever comes first.
    let done = std::rc::Rc::new(std::cell::RefCell::new(Some(done)));
    let finish = done.clone();
    // Runs once, on success, error or abort alike; it owns the progress
    // callback, which is freed with it.
    let on_end = Closure::once_into_js(move || {
        drop(on_progress);
        let status = answered.status().unwrap_or(0);
        let text = answered.response_text().ok().flatten().unwrap_or_default();
        let result = match status {
            201 => Ok(text),
            0 => Err("The server could not be reached. Check your connection and try again.".to_owned()),
            _ => Err(crate::components::attachments::error_message(&text)
                .unwrap_or_else(|| format!("The upload failed ({status})."))),
        };
        if let Some(done) = finish.borrow_mut().take() {
            done(result);
        }
    });
    xhr.set_onloadend(Some(on_end.unchecked_ref()));
    if xhr.send_with_opt_form_data(Some(&form)).is_err()
        && let Some(done) = done.borrow_mut().take()
    {
        done(Err("The upload could not start.".to_owned()));
    }
}
