Feature: A verdict that tells the truth, and alerts worth keeping on
  The owner can accept what will never work, sees a stopped container as down at once, and is
  reminded (once a day, not every round) of a problem that lasts.

  Scenario: Acknowledging a permanently bad file turns the verdict green
    Given the librarian beats ok
    And a thumbnail job that failed for good with reason "undecodable"
    And a quarantined file "broken.heic"
    Then photo-factory status says "Needs attention" and exits 1
    When the owner acknowledges the failed item on the dashboard
    And the owner acknowledges the quarantined file with photo-factory acknowledge
    Then photo-factory status says "Everything is fine" and exits 0
    And both acknowledgements are recorded in operator_actions
    When another file is quarantined
    Then photo-factory status says "Needs attention" and exits 1

  Scenario: A stopped container is reported down within one refresh
    Given the librarian beats ok
    And Docker inspects the librarian container as exited with code 137
    When the dashboard refreshes once
    Then the librarian is reported "down"
    And the verdict says "Something is wrong"

  Scenario: A problem that lasts a day is re-notified once
    Given an alert webhook is listening
    And the librarian last beat 10 minutes ago with a 60 second interval
    When the monitor runs
    Then the webhook received exactly 1 message "PROBLEM: librarian is stale"
    When the monitor runs 25 hours later
    And the monitor runs 26 hours later
    Then the webhook received exactly 1 message "STILL A PROBLEM: librarian is stale"
