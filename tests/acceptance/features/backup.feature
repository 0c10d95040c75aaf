Feature: Encrypted backup and a proven restore
  Every filed original is copied to an encrypted rclone remote and verified before it counts as
  backed up; the database is dumped next to it; a lost library comes back byte for byte.

  Background:
    Given an encrypted backup remote

  Scenario: a new photo is backed up encrypted
    Given a photo "DCIM/IMG_0001.JPG" in the inbox
    When the librarian and the backup have run
    Then the photo is marked as backed up
    And the remote holds the photo and a database dump, encrypted
    And no file name or content of the photo appears in plain text on the remote

  Scenario: a lost library is restored byte for byte
    Given 3 photos in the inbox
    And the librarian and the backup have run
    When the storage and the database are lost
    And the backup is restored into a fresh folder and database
    Then the restore reports every file verified
    And the fresh database has the same rows and the fresh folder the same bytes
    And the thumbnail worker runs on the restored library

  Scenario: an interrupted upload is retried and never marked backed up
    Given a photo "DCIM/IMG_0002.JPG" in the inbox
    And the remote is unreachable
    When the librarian and the backup have run
    Then the photo is not marked as backed up
    And the backup run is recorded as failed with its reason
    When the remote is reachable again and the retry is due
    And the backup has run
    Then the photo is marked as backed up

  Scenario: the restore drill proves the backup
    Given 2 photos in the inbox
    And the librarian and the backup have run
    When the restore drill runs
    Then the drill passes and is recorded
