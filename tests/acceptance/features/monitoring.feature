Feature: Monitoring, alerts and the dashboard
  The service-monitor notices when a service stops beating and tells the owner once, and the
  owner fixes failed items from the dashboard.

  Scenario: A stopped service turns stale and an alert is sent once
    Given an alert webhook is listening
    And the librarian last beat 10 minutes ago with a 60 second interval
    When the monitor runs 3 times
    Then the librarian is "stale"
    And the webhook received exactly 1 message "PROBLEM: librarian is stale"
    And photo-factory status says "Something is wrong" and exits 1
    When the librarian beats again
    And the monitor runs 2 times
    Then the webhook received exactly 1 message "RESOLVED: librarian is stale"

  Scenario: A failed item is retried from the dashboard
    Given a thumbnail job that failed for good with reason "undecodable"
    And a quarantined file "broken.jpg"
    When the owner retries every failed item and quarantined file on the dashboard
    Then the thumbnail job is pending again with 0 attempts
    And the quarantined file is marked for retry
    And photo-factory status reports 0 failed items
