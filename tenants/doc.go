// Package tenants holds the read models of organizations, their projects,
// members and roles, operational contacts, and the users who log in: all
// event-sourced in the same log as the keys. Directory is their projection;
// their commands are in package commands. Passwords are stored as argon2id
// hashes only (HashPassword); Logins checks them.
//
// Each project also has a native realm for its Elasticsearch-compatible
// surface: project-local users, roles and application privileges (one
// aggregate per project, kp.<org>.esrealm.<project>). Realms is its
// projection; those users exist in their project only and never log in to
// the console.
package tenants
