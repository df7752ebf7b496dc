import RelydOIDC
import RelydProtocol
import RelydStore

/// `update_site`: changes a site's metadata. A dynamically registered client with a `registration_client_uri` is
/// updated at the OP first (RFC 7592 2.2) and the OP's answer is kept (it may rotate the secret or the
/// registration access token, or adjust metadata); when the OP refuses, the stored site stays as it was.
/// Other sites change locally only.
public enum UpdateSiteHandler: CommandHandler {
    public typealias Command = UpdateSite
    public static let changesSites = true

    public static func run(_ parameters: UpdateSite.Parameters, context: CommandContext) async throws -> SiteMetadata {
        guard parameters != UpdateSite.Parameters(oxdID: parameters.oxdID) else {
            throw RelydError(.invalidParameter, "give at least one of the site's parameters to change")
        }
        if let uri = parameters.authorizationRedirectURI {
            try RegisterSiteHandler.checkRedirectURI(uri, field: "authorization_redirect_uri")
        }
        if let uri = parameters.postLogoutRedirectURI {
            try RegisterSiteHandler.checkRedirectURI(uri, field: "post_logout_redirect_uri")
        }
        if let alg = parameters.idTokenSignedResponseAlg {
            try RegisterSiteHandler.checkIDTokenAlgorithm(alg)
        }
        for (name, values) in [("grant_types", parameters.grantTypes), ("response_types", parameters.responseTypes)] {
            if let values, values.isEmpty || values.contains(where: \.isEmpty) {
                throw RelydError(.invalidParameter, "'params.\(name)' must list at least one non-empty value")
            }
        }

        var site = try await context.site(parameters.oxdID)
        if parameters.idTokenSignedResponseAlg != nil && site.providerKind == .oauth2 {
            throw RelydError(.invalidParameter, "a plain OAuth 2.0 site has no ID tokens")
        }
        site.redirectURI = parameters.authorizationRedirectURI ?? site.redirectURI
        site.postLogoutRedirectURI = parameters.postLogoutRedirectURI ?? site.postLogoutRedirectURI
        site.scopes = parameters.scope.map(AuthorizationRequest.withOpenID) ?? site.scopes
        site.clientName = parameters.clientName ?? site.clientName
        site.grantTypes = parameters.grantTypes ?? site.grantTypes
        site.responseTypes = parameters.responseTypes ?? site.responseTypes
        site.idTokenSignedResponseAlg = parameters.idTokenSignedResponseAlg ?? site.idTokenSignedResponseAlg

        let http = context.environment.http
        let handle = try ClientRegistrationManagement.handle(of: site, http: http)
        if let handle {
            site.adopt(try await ClientRegistrationManagement.update(
                handle, to: ClientMetadataRequest(site: site), http: http))
        }
        guard try await context.store.updateSite(site) else {
            throw RelydError(.unknownSite, "the site was removed meanwhile")
        }
        context.logger.notice("site updated", ("site.id", site.id), ("client.id", site.clientID),
                              ("op.updated", String(handle != nil)))
        return SiteMetadata(site)
    }
}
