import HTTPServer
import SootStore

/// What a page says after one of its forms was sent: a refusal shown under the field, with what was typed kept, or
/// a success notice. A form posts, the handler answers 303 back to the page (so reloading it is a plain GET, never a
/// resubmission or a 404), and the feedback travels in a short-lived cookie that the next page shows once and
/// deletes. The cookie holds only what this browser typed and Soot's own message, and pages escape it like any text.
struct FormFeedback: Sendable, Equatable {
    /// The form's id (`new-team`, `rename`, `invite`, ...); nil for a page-wide notice.
    var form: String?
    /// The field the message is about.
    var field: String?
    var message: String
    /// What was typed in the field, shown again.
    var value: String?
    var isError: Bool

    static let cookieName = "soot_form"

    static func success(_ message: String) -> FormFeedback {
        FormFeedback(form: nil, field: nil, message: message, value: nil, isError: false)
    }

    /// The `Set-Cookie` value that carries this feedback to the next page (60 s at most).
    func cookie(secure: Bool) -> String {
        var pairs = [("m", String(message.prefix(300))), ("e", isError ? "1" : "0")]
        if let form { pairs.append(("f", form)) }
        if let field { pairs.append(("n", field)) }
        if let value { pairs.append(("v", String(value.prefix(400)))) }
        let text = pairs.map { "\($0.0)=\(FormDecoding.encode($0.1))" }.joined(separator: "&")
        return Cookies.make(Self.cookieName, FormDecoding.encode(text), maxAge: 60, secure: secure)
    }

    /// The feedback the request's cookie carries, if any.
    static func read(_ request: Request) -> FormFeedback? {
        guard let raw = Cookies.value(cookieName, in: request), !raw.isEmpty, let text = FormDecoding.decode(raw) else { return nil }
        var fields: [String: String] = [:]
        for (name, value) in FormDecoding.pairs(text) { fields[name] = value }
        guard let message = fields["m"], !message.isEmpty else { return nil }
        return FormFeedback(form: fields["f"], field: fields["n"], message: message, value: fields["v"], isError: fields["e"] == "1")
    }

    /// The refusal for form `id`, if this feedback is one.
    func error(for id: String) -> FormFeedback? { isError && form == id ? self : nil }

    /// The message as a page-wide notice: a status for a success, an alert for a refusal.
    var notice: HTML {
        isError ? "<p class=\"notice error\" role=\"alert\">\(message)</p>" : "<p class=\"notice\" role=\"status\">\(message)</p>"
    }
}

/// Attributes and the message for a field of form `id`: the typed value back, `aria-invalid`, and the message
/// below the field, tied to it by `aria-describedby`.
struct FieldState {
    let id: String
    let error: FormFeedback?

    init(form id: String, _ feedback: FormFeedback?) {
        self.id = id
        error = feedback?.error(for: id)
    }

    /// `value="…"` (typed, else `current`) and the invalid state, for an `<input>`.
    func attributes(current: String? = nil) -> HTML {
        var html: HTML = ""
        if let value = error?.value ?? current { html += " value=\"\(value)\"" }
        if error != nil { html += " aria-invalid=\"true\" aria-describedby=\"\(id)-error\"" }
        return html
    }

    /// The message under the field, or nothing.
    var message: HTML {
        guard let error else { return "" }
        return "<p class=\"field-error\" id=\"\(id)-error\">\(error.message)</p>"
    }
}

extension Response {
    /// Deletes the feedback cookie when the request carried one: it is shown once.
    mutating func clearFeedback(_ request: Request, secure: Bool) {
        if Cookies.value(FormFeedback.cookieName, in: request) != nil {
            headers.add("Set-Cookie", Cookies.expire(FormFeedback.cookieName, secure: secure))
        }
    }

    /// 303 to `path` with `feedback` for the next page.
    static func back(to path: String, _ feedback: FormFeedback, secure: Bool) -> Response {
        var response = Response.redirect(to: path, status: .seeOther)
        response.headers.add("Set-Cookie", feedback.cookie(secure: secure))
        return response
    }
}

/// Runs a page form's work. Done, it goes to where the work says with its success notice (or answers with the
/// page the work made, such as a token shown once). Refused for a reason the person can fix (422, 409), it goes
/// back to `page`, to the field `form` (the input's id), with the message and what was typed in `field`; other
/// errors (not found, forbidden, the database down) answer as before.
func formSubmission(_ request: Request, form: String, page: String, field: String = "name", secure: Bool,
                    _ work: () throws -> Response) throws -> Response {
    do {
        return try work()
    } catch {
        guard let error = AppError.from(error), error.status == .unprocessableContent || error.status == .conflict else { throw error }
        let message = error.status == .conflict && error.field == "name"
            ? "There is already one named “\(request.formField(field) ?? "")” here (names ignore case)."
            : error.message
        let feedback = FormFeedback(form: form, field: error.field ?? field, message: message,
                                    value: request.formField(field), isError: true)
        return .back(to: page + "#" + form, feedback, secure: secure)
    }
}
