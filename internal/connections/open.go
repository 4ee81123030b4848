package connections

import (
	"context"
	"fmt"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/store"
)

// Open returns a connection's driver and its opened configuration, for the services that
// call drivers themselves (flows). The secrets it returns must never reach a log or an
// error: hide them with the driver spec's SecretValues.
func (s *Service) Open(ctx context.Context, c store.Connection) (driver.Driver, driver.Config, error) {
	d, err := s.driverFor(ctx, c.WorkspaceID, c.Driver)
	if err != nil {
		return nil, driver.Config{}, fmt.Errorf("%w: driver %q of connection %q is not available", driver.ErrConfig, c.Driver, c.Name)
	}
	cfg, err := s.Config(c)
	if err != nil {
		return nil, driver.Config{}, fmt.Errorf("%w: connection %q: %v", driver.ErrConfig, c.Name, err)
	}
	return d, cfg, nil
}

// OnSynced registers fn to run after every successful sync of a connection, inside the
// sync job (before it counts as finished, so a crash in between runs the sync and fn
// again rather than skipping fn). Flows use it for their automatic trigger.
func (s *Service) OnSynced(fn func(ctx context.Context, c store.Connection, syncJob store.Job)) {
	s.onSynced = fn
}
