// Package tenants owns organizations, their projects, members and roles,
// operational contacts, and the users who log in: all event-sourced in the
// same log as the keys. Directory is their projection; Service runs their
// commands. Passwords are stored as argon2id hashes only.
package tenants
