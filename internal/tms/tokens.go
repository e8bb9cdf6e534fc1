package tms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

// RefreshGrant is a token request with the refresh_token grant.
type RefreshGrant struct {
	// Tenant, when set, is the tenant whose token endpoint was asked: a
	// refresh token issued in another tenant is refused as unknown and
	// stays usable where it belongs.
	Tenant       string
	ClientID     string
	RefreshToken string
	// Scope, when set, must not ask for more than the token has.
	Scope string
}

// RefreshToken exchanges a refresh token for new access and refresh tokens
// (RFC 6749 §6). The old refresh token is spent; presenting it again
// revokes every token descended from the same login. Refreshing stops
// working when the delegation the user approved ends or the user, client
// or tenant is disabled.
func (s *Service) RefreshToken(ctx context.Context, g RefreshGrant) (TokenGrant, error) {
	if g.RefreshToken == "" {
		return TokenGrant{}, oauthError(OAuthInvalidRequest, "refresh_token: required")
	}
	if g.Scope != "" {
		if _, err := checkScope(g.Scope); err != nil {
			return TokenGrant{}, err
		}
	}
	hash := hashToken(g.RefreshToken)
	ts, err := s.store.GetToken(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return TokenGrant{}, oauthError(OAuthInvalidGrant, "refresh_token: unknown or expired; run tms login again")
	}
	if err != nil {
		return TokenGrant{}, oauthStoreError(err)
	}
	if g.Tenant != "" && ts.Token.Tenant != g.Tenant {
		return TokenGrant{}, oauthError(OAuthInvalidGrant, "refresh_token: unknown, or issued to another client")
	}
	owner := TokenGrant{TokenOwner: TokenOwner{Tenant: ts.Token.Tenant, Username: ts.Token.Username}}
	now := s.now()
	if ts.Token.Kind == store.RefreshToken && ts.Token.ClientID == g.ClientID {
		if err := usable(ts, now); err != nil {
			return owner, oauthError(OAuthInvalidGrant, "refresh_token: "+err.Error())
		}
	}
	access, refresh, tokens := s.accounts.newTokens(now, "")
	outcome, _, err := s.store.RotateRefreshToken(ctx, hash, g.ClientID, tokens, now)
	if err != nil {
		return owner, oauthStoreError(err)
	}
	switch outcome {
	case store.Rotated:
		return TokenGrant{AccessToken: access, RefreshToken: refresh, ExpiresIn: s.accounts.opts.AccessTokenLifetime, Scope: ScopeKeys,
			TokenOwner: owner.TokenOwner}, nil
	case store.RotationExpired:
		return owner, oauthError(OAuthInvalidGrant, "refresh_token: expired; run tms login again")
	case store.RotationRevoked:
		return owner, oauthError(OAuthInvalidGrant, "refresh_token: revoked; run tms login again")
	case store.RotationReused:
		s.logger.WarnContext(ctx, "a spent refresh token was presented again; revoked the tokens of its login",
			"tenant", ts.Token.Tenant, "user", ts.Token.Username, "client", ts.Token.ClientID)
		return owner, oauthError(OAuthInvalidGrant, "refresh_token: already used; every token of this login is revoked; run tms login again")
	}
	return owner, oauthError(OAuthInvalidGrant, "refresh_token: unknown, or issued to another client")
}

// usable returns why a token may not be used now, or nil: it must be
// unrevoked and unexpired, and its tenant, client and user enabled and its
// delegation present and unexpired.
func usable(ts store.TokenState, now time.Time) error {
	switch {
	case !ts.Token.RevokedAt.IsZero():
		return errors.New("revoked; run tms login again")
	case !now.Before(ts.Token.ExpiresAt):
		return errors.New("expired")
	case !ts.TenantEnabled:
		return fmt.Errorf("tenant %s is disabled", ts.Token.Tenant)
	case !ts.ClientEnabled:
		return fmt.Errorf("client %s is disabled in tenant %s", ts.Token.ClientID, ts.Token.Tenant)
	case !ts.UserEnabled:
		return fmt.Errorf("user %s is disabled", ts.Token.Username)
	case ts.Delegation.ID == 0:
		return fmt.Errorf("the delegation from %s to %s was revoked; run tms login again", ts.Token.Username, ts.Token.ClientID)
	case !now.Before(ts.Delegation.ExpiresAt):
		return fmt.Errorf("the delegation from %s to %s ended at %s; run tms login again", ts.Token.Username, ts.Token.ClientID,
			fmtTime(ts.Delegation.ExpiresAt))
	}
	return nil
}

// RevokeToken revokes a token and every token of the same login
// (RFC 7009), and returns whose login it ended. Unknown tokens, and tokens
// of other clients, are ignored, as the RFC asks; with tenant set, a client
// is the client of that tenant, so tokens issued in another tenant are
// ignored too.
func (s *Service) RevokeToken(ctx context.Context, tenant, clientID, token string) (TokenOwner, error) {
	if token == "" {
		return TokenOwner{}, oauthError(OAuthInvalidRequest, "token: required")
	}
	hash := hashToken(token)
	var owner TokenOwner
	ts, err := s.store.GetToken(ctx, hash)
	switch {
	case err == nil && tenant != "" && ts.Token.Tenant != tenant:
		return TokenOwner{}, nil
	case err == nil && ts.Token.ClientID == clientID:
		owner = TokenOwner{Tenant: ts.Token.Tenant, Username: ts.Token.Username}
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return TokenOwner{}, oauthStoreError(err)
	}
	if _, err := s.store.RevokeTokenFamily(ctx, hash, clientID, s.now()); err != nil {
		return TokenOwner{}, oauthStoreError(err)
	}
	return owner, nil
}

// UserPrincipal is an end user authenticated by an access token.
type UserPrincipal struct {
	Tenant   string
	Username string
	// ClientID is the client the user approved, which acts as the delegate
	// of the user's key operations.
	ClientID       string
	TokenExpiresAt time.Time
	Delegation     store.Delegation
}

// AuthenticateBearer checks an access token from an Authorization header.
// Every failure is KindUnauthorized with a message that says what to do.
func (s *Service) AuthenticateBearer(ctx context.Context, token string) (UserPrincipal, error) {
	if token == "" {
		return UserPrincipal{}, newError(KindUnauthorized, "Authorization: a bearer access token is required (run tms login)")
	}
	if !strings.HasPrefix(token, accessTokenPrefix) {
		return UserPrincipal{}, newError(KindUnauthorized, "Authorization: not a TMS access token")
	}
	ts, err := s.store.GetToken(ctx, hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return UserPrincipal{}, newError(KindUnauthorized, "Authorization: unknown or expired access token (run tms login)")
	}
	if err != nil {
		return UserPrincipal{}, storeError(err, "check access token")
	}
	if ts.Token.Kind != store.AccessToken {
		return UserPrincipal{}, newError(KindUnauthorized, "Authorization: not an access token")
	}
	if err := usable(ts, s.now()); err != nil {
		return UserPrincipal{}, newError(KindUnauthorized, "Authorization: access token %s", err.Error())
	}
	return UserPrincipal{Tenant: ts.Token.Tenant, Username: ts.Token.Username, ClientID: ts.Token.ClientID,
		TokenExpiresAt: ts.Token.ExpiresAt, Delegation: ts.Delegation}, nil
}
