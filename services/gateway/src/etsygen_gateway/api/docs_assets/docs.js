// Starts Swagger UI on the page /schema serves. It is a served file, not an inline script, so the docs
// pages' Content-Security-Policy can allow scripts from this origin only.
"use strict";
(function () {
  const root = document.getElementById("swagger-ui");
  const csrfCookie = root.dataset.csrfCookie;
  const unsafe = new Set(["POST", "PUT", "PATCH", "DELETE"]);

  function cookie(name) {
    for (const part of document.cookie.split("; ")) {
      const at = part.indexOf("=");
      if (part.slice(0, at) === name) return decodeURIComponent(part.slice(at + 1));
    }
    return undefined;
  }

  SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    // The default sends the document to an external validator service; these docs stay on this host.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    // "Try it out" with the dashboard's session cookie: the gateway wants the session's CSRF token echoed
    // on unsafe requests (double submit). Requests that carry an API key need none.
    requestInterceptor: (request) => {
      const headers = request.headers;
      const keyed = headers["X-API-Key"] || headers.Authorization;
      const token = csrfCookie ? cookie(csrfCookie) : undefined;
      if (!keyed && token && unsafe.has(String(request.method).toUpperCase())) {
        headers["X-CSRF-Token"] = token;
      }
      return request;
    },
  });
})();
