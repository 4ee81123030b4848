package connections

import (
	"context"
	"errors"
	"fmt"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/store"
)

// ErrNotWritable means the connection's driver cannot write records.
var ErrNotWritable = errors.New("this connection's driver cannot write records")

// MaxWriteBatch is the most records one Write call takes, so a request never holds an
// unbounded batch in memory.
const MaxWriteBatch = 1000

// Write sends records to the connected system through its driver and reports a result per
// record, in order. The mirror learns of the change on the next sync, as of any other
// change made in the system. Driver messages are scrubbed of the connection's secrets.
func (s *Service) Write(ctx context.Context, workspaceID, id int64, entity string, recs []driver.WriteRecord) ([]driver.WriteResult, error) {
	c, err := s.store.GetConnection(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	if c.Status != store.StatusActive {
		return nil, ErrInactive
	}
	if len(recs) > MaxWriteBatch {
		return nil, driver.FieldErrors{{Field: "records", Message: fmt.Sprintf("at most %d records per request", MaxWriteBatch)}}
	}
	d, cfg, err := s.Open(ctx, c)
	if err != nil {
		return nil, err
	}
	w, ok := d.(driver.Writer)
	if !ok {
		return nil, ErrNotWritable
	}
	secrets := d.Spec().SecretValues(cfg)
	res, err := w.Write(ctx, cfg, entity, recs)
	if err != nil {
		if errors.Is(err, driver.ErrUnknownEntity) {
			return nil, driver.FieldErrors{{Field: "entity", Message: fmt.Sprintf("%q is not an entity of this connection", entity)}}
		}
		return nil, fmt.Errorf("write %s to connection %d: %s", entity, id, scrub(err.Error(), secrets))
	}
	for i := range res {
		res[i].Error = scrub(res[i].Error, secrets)
	}
	return res, nil
}
