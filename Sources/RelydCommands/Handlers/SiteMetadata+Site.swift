#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RelydProtocol
import RelydStore

extension SiteMetadata {
    /// The public part of a stored site: everything but its secret, registration access token and private key.
    init(_ site: Site) {
        self.init(
            oxdID: site.id, opHost: site.opHost, clientID: site.clientID, clientName: site.clientName,
            authorizationRedirectURI: site.redirectURI, postLogoutRedirectURI: site.postLogoutRedirectURI,
            scope: site.scopes, grantTypes: site.grantTypes, responseTypes: site.responseTypes,
            tokenEndpointAuthMethod: site.tokenEndpointAuthMethod,
            idTokenSignedResponseAlg: site.idTokenSignedResponseAlg,
            clientSecretExpiresAt: site.clientSecretExpiresAt.map { Int64($0.timeIntervalSince1970) },
            dynamicallyRegistered: site.isDynamicallyRegistered,
            createdAt: Int64(site.createdAt.timeIntervalSince1970), providerKind: site.providerKind.rawValue)
    }
}
