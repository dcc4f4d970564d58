package app

import (
	"github.com/keyplane/keyplane/commands"
	"github.com/keyplane/keyplane/notifier"
)

// startNotifier runs the expiry notifier on the app's projections, clock
// and logger.
func (a *App) startNotifier() error {
	cfg := a.Config.Notify
	if cfg.Now == nil {
		cfg.Now = a.Config.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = a.Config.Logger
	}
	cmds := commands.NewNotices(commands.Deps{Store: a.Log, Wait: a.Runner, Now: cfg.Now})
	n, err := notifier.New(cfg, notifier.Deps{Log: a.Log, Commands: cmds, Wait: a.Runner, Expiry: a.Expiry, Notices: a.Notices, Keys: a.Keys, Dir: a.Dir})
	if err != nil {
		return err
	}
	if err := n.Start(); err != nil {
		return err
	}
	a.Notifier = n
	return nil
}
