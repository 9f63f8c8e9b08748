"""Hot reload: `develop.watch` rules turned into actions on the running stack.

    rules = rules_for(project, services)          # composer.watch.rules: frozen WatchRule per entry
    watcher = Watcher(session, rules, reporter)   # composer.watch.watcher: watchdog events -> batches
    watcher.start(); ...; watcher.stop()

A batch (composer.watch.batch) is what a debounce window collected for one service; composer.watch.actions
applies it (sync into every replica, restart, exec, rebuild); composer.watch.reapply re-loads the project
file and converges only what changed.
"""
