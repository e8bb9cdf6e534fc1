package cli

import (
	"context"
	"fmt"
	"os/user"
	"time"

	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/store"
)

// recordLocal appends the audit event of an operator command that worked
// on the database directly, unless the server's configuration turns the
// audit log off. The actor is the operating-system account that ran the
// command. A failure is reported on standard error; it does not undo what
// the command did.
func (f *adminFlags) recordLocal(ctx context.Context, stdio IO, st store.Store, ev store.AuditEvent) {
	warn := func(err error) {
		fmt.Fprintf(stdio.Err, "tms: warning: the audit log did not record this change: %v\n", err)
	}
	db, err := server.LocateDatabase(server.StoreOptions{RootDir: f.rootDir, ConfigFile: f.configFile, Env: stdio.environment()})
	if err != nil {
		warn(err)
		return
	}
	if !db.AuditEnabled() {
		return
	}
	ev.Time = time.Now()
	ev.Outcome = audit.OutcomeSuccess
	ev.Actor = "operator"
	if u, err := user.Current(); err == nil {
		ev.Actor = "operator:" + u.Username
	}
	ev.RemoteAddr = "local"
	if err := st.AppendAudit(ctx, []store.AuditEvent{ev}); err != nil {
		warn(err)
	}
}
