package tms

import (
	"context"
	"errors"
	"fmt"

	"github.com/tmsproject/tms/internal/directory"
	"github.com/tmsproject/tms/internal/store"
)

// Directory checks a username and password against a directory (LDAP);
// *directory.Directory implements it. Its errors wrap
// directory.ErrWrongCredentials or directory.ErrUnavailable.
type Directory interface {
	Authenticate(ctx context.Context, username, password string) (directory.Identity, error)
}

// TenantDirectory is the directory whose passwords the sign-in page of a
// tenant checks instead of TMS passwords.
type TenantDirectory struct {
	// ID names the directory in the origin of its users ("ldap:<id>").
	ID        string
	Tenant    string
	Directory Directory
}

// directoryOf returns the directory of a tenant, if it has one.
func (s *Service) directoryOf(tenant string) (TenantDirectory, bool) {
	for _, d := range s.opts.Directories {
		if d.Tenant == tenant {
			return d, true
		}
	}
	return TenantDirectory{}, false
}

// HasDirectory reports whether a directory checks the passwords of the
// tenant's sign-in page.
func (s *Service) HasDirectory(tenant string) bool {
	_, ok := s.directoryOf(tenant)
	return ok
}

// errDirectoryUnavailable is the page's message when the directory cannot
// check a password.
func errDirectoryUnavailable(tenant string, err error) *FlowError {
	return &FlowError{Reason: FlowDirectoryUnavailable, Err: err, Message: fmt.Sprintf("The directory that checks passwords for "+
		"tenant %s cannot be reached right now, so nobody can sign in to it. Try again in a few minutes; "+
		"if it keeps happening, tell your administrator.", tenant)}
}

// directoryUser checks the password of a user of a tenant with a directory
// and returns the user's TMS account, which the first sign-in creates with
// the directory's spelling of the name and no TMS password. An account of
// that name that signs in another way is refused: the directory does not
// speak for it. The second result tells whether the account was created.
func (s *Service) directoryUser(ctx context.Context, dir TenantDirectory, username, password string) (store.User, bool, error) {
	id, err := dir.Directory.Authenticate(ctx, username, password)
	switch {
	case errors.Is(err, directory.ErrWrongCredentials):
		fe := errWrongCredentials()
		fe.Err = err
		return store.User{}, false, fe
	case err != nil:
		return store.User{}, false, errDirectoryUnavailable(dir.Tenant, err)
	}
	if checkUsername(id.Username) != nil {
		return store.User{}, false, &FlowError{Reason: FlowBadCredentials, Err: fmt.Errorf("directory entry %s", id.DN),
			Message: fmt.Sprintf("Your directory account %q cannot be used as a TMS username. Ask your administrator.", id.Username)}
	}
	origin := store.LDAPOrigin(dir.ID)
	u, err := s.store.GetUser(ctx, dir.Tenant, id.Username)
	created := false
	if errors.Is(err, store.ErrNotFound) {
		now := s.now()
		err = s.store.CreateUser(ctx, store.User{Tenant: dir.Tenant, Username: id.Username, Origin: origin, Enabled: true,
			Created: now, Updated: now})
		created = err == nil
		if err == nil || errors.Is(err, store.ErrConflict) { // or created by a sign-in at the same moment
			u, err = s.store.GetUser(ctx, dir.Tenant, id.Username)
		}
	}
	if err != nil {
		return store.User{}, false, flowStoreError(err)
	}
	if u.Origin != origin {
		return store.User{}, false, flowError(FlowBadCredentials,
			"The account %s of tenant %s does not sign in with the directory. Ask your administrator.", u.Username, dir.Tenant)
	}
	return u, created, nil
}
