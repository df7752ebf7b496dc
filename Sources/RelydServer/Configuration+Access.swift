import RelydCommands

extension Configuration {
    /// The dispatcher's access policy from `allowed_uids`, `allowed_gids`, `admin_uids` and `admin_gids`.
    public var accessPolicy: AccessPolicy {
        AccessPolicy(allowedUIDs: allowedUIDs, allowedGIDs: allowedGIDs, adminUIDs: adminUIDs, adminGIDs: adminGIDs)
    }
}
