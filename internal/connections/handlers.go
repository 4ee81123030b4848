package connections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/jobs"
	"github.com/junction-hub/junction/internal/store"
	"github.com/junction-hub/junction/internal/syncer"
)

// Handlers are the job kinds this service carries out.
func (s *Service) Handlers() map[string]jobs.Handler {
	return map[string]jobs.Handler{
		store.KindSync:  s.runSync,
		store.KindCheck: s.runCheck,
		store.KindPurge: s.runPurge,
	}
}

// jobConnection loads the job's connection, its driver and its opened configuration, and
// makes the log hide the configuration's secrets.
func (s *Service) jobConnection(ctx context.Context, j store.Job, log *jobs.Log) (store.Connection, driver.Driver, driver.Config, error) {
	if j.ConnectionID == nil {
		return store.Connection{}, nil, driver.Config{}, fmt.Errorf("%w: job %d has no connection", driver.ErrConfig, j.ID)
	}
	c, err := s.store.GetConnection(ctx, j.WorkspaceID, *j.ConnectionID)
	if err != nil {
		return c, nil, driver.Config{}, fmt.Errorf("%w: connection %d: %v", driver.ErrConfig, *j.ConnectionID, err)
	}
	d, err := s.driverFor(ctx, j.WorkspaceID, c.Driver)
	if err != nil {
		var fe driver.FieldErrors
		if errors.As(err, &fe) {
			return c, nil, driver.Config{}, fmt.Errorf("%w: driver %q is not installed", driver.ErrConfig, c.Driver)
		}
		return c, nil, driver.Config{}, err
	}
	cfg, err := s.Config(c)
	if err != nil {
		return c, nil, driver.Config{}, fmt.Errorf("%w: %v", driver.ErrConfig, err)
	}
	log.Hide(d.Spec().SecretValues(cfg)...)
	return c, d, cfg, nil
}

func (s *Service) runSync(ctx context.Context, j store.Job, log *jobs.Log) error {
	c, d, cfg, err := s.jobConnection(ctx, j, log)
	if err != nil {
		return err
	}
	if c.Status != store.StatusActive {
		log.Info("the connection is inactive; nothing synced")
		return nil
	}
	var params struct {
		Mode string `json:"mode"`
	}
	_ = json.Unmarshal([]byte(j.Params), &params)
	log.Info(fmt.Sprintf("sync of %q (%s) started", c.Name, c.Driver))
	err = s.syncer.Sync(ctx, syncer.Run{Job: j, Connection: c, Driver: d, Config: cfg, Mode: params.Mode, Log: log})
	switch {
	case err == nil:
		_ = s.store.SetHealth(ctx, c.ID, store.HealthOK, "")
		if err := s.store.SetLastSync(ctx, c.ID, j.ID); err != nil {
			return err
		}
		log.Info("sync finished")
		if s.onSynced != nil {
			s.onSynced(ctx, c, j)
		}
	case driver.IsConfig(err):
		_ = s.store.SetHealth(context.WithoutCancel(ctx), c.ID, store.HealthFailing, scrub(err.Error(), d.Spec().SecretValues(cfg)))
	}
	return err
}

func (s *Service) runCheck(ctx context.Context, j store.Job, log *jobs.Log) error {
	c, d, cfg, err := s.jobConnection(ctx, j, log)
	if err != nil {
		return err
	}
	var params struct {
		OverrideSealed string `json:"override_sealed"`
	}
	_ = json.Unmarshal([]byte(j.Params), &params)
	if params.OverrideSealed != "" {
		raw, err := s.keyring.Open(params.OverrideSealed, sealContext(j.WorkspaceID))
		if err != nil {
			return fmt.Errorf("%w: check override: %v", driver.ErrConfig, err)
		}
		var override driver.Config
		if err := json.Unmarshal(raw, &override); err != nil {
			return fmt.Errorf("%w: check override: %v", driver.ErrConfig, err)
		}
		cfg = driver.Config{Credentials: merge(d.Spec().Credentials, cfg.Credentials, override.Credentials),
			Settings: merge(d.Spec().Settings, cfg.Settings, override.Settings)}
		log.Hide(d.Spec().SecretValues(cfg)...)
	}
	res := CheckResult{OK: true, Message: "credentials work"}
	if cfg, err = d.Spec().Validate(cfg); err == nil {
		err = check(ctx, d, cfg)
	}
	var fe driver.FieldErrors
	var ce *CheckError
	switch {
	case err == nil:
	case errors.As(err, &fe):
		res = CheckResult{Message: fe.Error(), FieldErrors: fe}
	case errors.As(err, &ce):
		res = CheckResult{Message: ce.Message}
	default:
		return err
	}
	b, _ := json.Marshal(res)
	if err := s.store.SetJobResult(ctx, j.ID, b); err != nil {
		return err
	}
	if params.OverrideSealed == "" {
		health, msg := store.HealthOK, ""
		if !res.OK {
			health, msg = store.HealthFailing, res.Message
		}
		_ = s.store.SetHealth(ctx, c.ID, health, msg)
	}
	if !res.OK {
		return fmt.Errorf("%w: %s", driver.ErrConfig, res.Message)
	}
	log.Info(fmt.Sprintf("check of %q passed", c.Name))
	return nil
}

func (s *Service) runPurge(ctx context.Context, j store.Job, log *jobs.Log) error {
	if j.ConnectionID == nil {
		return fmt.Errorf("%w: purge job %d has no connection", driver.ErrConfig, j.ID)
	}
	id := *j.ConnectionID
	c, err := s.store.GetConnection(ctx, j.WorkspaceID, id)
	if errors.Is(err, store.ErrNotFound) {
		log.Info("the connection is already gone")
		return nil
	}
	if err != nil {
		return err
	}
	if c.Status == store.StatusActive {
		return fmt.Errorf("%w: connection %q was enabled again; not deleted", driver.ErrConfig, c.Name)
	}
	if err := s.store.CancelConnectionJobs(ctx, id, store.KindSync); err != nil {
		return err
	}
	log.Info(fmt.Sprintf("deleting connection %q and everything mirrored for it", c.Name))
	var deleted int64
	err = s.store.PurgeConnection(ctx, id, func(n int64) { deleted = n })
	if err != nil {
		return err
	}
	log.Info(fmt.Sprintf("deleted the connection, its catalog and %d records", deleted))
	return nil
}
