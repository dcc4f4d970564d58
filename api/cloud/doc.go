// Package cloud serves Elastic Cloud's API keys API under
// /api/v1/users/auth/keys, so that ecctl's `auth key` commands and
// cloud-sdk-go's authentication client manage keyplane's keys: an Elastic
// Cloud key is a keyplane key of the caller's member in the caller's
// organization, made and revoked by package commands like any other, and
// its role assignments are keyplane's roles and scopes (roles.go). Errors
// are in Elastic Cloud's shape (httpx.WriteCloudError).
package cloud
