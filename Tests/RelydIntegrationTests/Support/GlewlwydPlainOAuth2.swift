import Foundation

extension OpenIDProvider {
    /// Lets this Glewlwyd instance answer authorization requests without the `openid` scope (its OIDC plugin's
    /// `allow-non-oidc`), so that it can stand in for a plain OAuth 2.0 provider. The shared fixture leaves it off;
    /// the change goes through Glewlwyd's admin API with the fixture's admin account and touches only this test's
    /// own instance.
    func allowPlainOAuth2Requests() throws {
        guard kind == .glewlwyd else { throw IntegrationError("only Glewlwyd has an allow-non-oidc switch") }
        let script = """
        import json, ssl, sys, urllib.request, http.cookiejar
        api, ca = sys.argv[1], sys.argv[2]
        handlers = [urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())]
        if ca:
            handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca)))
        opener = urllib.request.build_opener(*handlers)
        def call(method, path, body=None):
            data = None if body is None else json.dumps(body).encode()
            request = urllib.request.Request(api + path, data=data, method=method,
                                             headers={"Content-Type": "application/json"})
            with opener.open(request) as response:
                text = response.read().decode()
                return json.loads(text) if text.strip() else None
        call("POST", "/auth/", {"username": "admin", "password": "password"})
        plugin = call("GET", "/mod/plugin/oidc")
        for key in ("enabled_status", "readonly"):
            plugin.pop(key, None)
        plugin["parameters"]["allow-non-oidc"] = True
        call("PUT", "/mod/plugin/oidc", plugin)
        call("PUT", "/mod/plugin/oidc/reset")
        """
        let api = String(fixture.issuer.dropLast("/oidc".count))
        _ = try run("python3", ["-c", script, api, fixture.ca_file ?? ""])
    }
}
