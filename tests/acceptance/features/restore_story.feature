Feature: The storage disk died: the README's restore brings everything back (no Docker)
  The same story as the Docker end-to-end test, on this machine as `make run` runs it: the real
  photo-factory services, a private PostgreSQL, an encrypted rclone remote over a local folder,
  and the README's commands run exactly as written.

  Background:
    Given an encrypted backup remote
    And photos and an overlapping sequence filed, stitched, thumbnailed and backed up

  Scenario: after the disk and the database are lost, everything comes back byte for byte
    When the storage disk and the database are lost
    And the pipeline starts again on the empty disk and backs up the empty catalogue
    And the README's "restore-local" commands run as written
    Then every original and panorama is byte-identical to the catalogue before the loss
    And the restore drill passed
    And the thumbnails worker rebuilds every thumbnail

  Scenario: a lost file, then a lost range of days, come back into the live library
    When each of the README's "restore-files" commands runs as written after losing what it names
    Then every original and panorama is byte-identical to the catalogue before the loss
