// Package tenants holds the multi-tenant domain of Latchkey: tenants, their hosts,
// organisations and their policies, users' enrollment records and audit events,
// plus the pieces that are pure logic over them (host parsing, host → tenant
// resolution with a cache, organisation matching, policy resolution).
//
// The package imports only the standard library so that every other part of the
// product (including the on-prem connector) can use its types. Storage lives in
// tenants/store and its backends; HTTP lives in portal.
package tenants
