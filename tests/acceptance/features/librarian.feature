Feature: The librarian files what phones send, and never loses a file
  Phones sync their camera folders into the inbox. The librarian files every photo and video
  into the library by the day it was taken, removes exact duplicates, and sets aside what it
  cannot file, with the reason, instead of dropping it.

  Scenario: A photo dropped in the inbox is filed by its capture date
    Given a photo "DCIM/Camera/IMG_20240131_235959.jpg" taken on "2024:01:31 23:59:59" is in the inbox
    When the librarian runs once
    Then the library holds "Library/2024/2024-01-31/IMG_20240131_235959.jpg" with the same content
    And the database records it with date source "EXIF:DateTimeOriginal"
    And the inbox is empty

  Scenario: A duplicate is removed from the inbox
    Given a photo "IMG_0001.JPG" taken on "2023:07:14 09:30:00" is in the inbox
    And the librarian has run once
    And the same photo arrives again as "Camera/IMG_0001 (1).JPG"
    When the librarian runs once
    Then the inbox is empty
    And the library holds exactly 1 file
    And 1 duplicate removal is recorded

  Scenario: A broken file is quarantined with its reason
    Given a truncated photo "broken.jpg" is in the inbox
    And an empty file "zero.jpg" is in the inbox
    When the librarian runs once
    Then "broken.jpg" is in quarantine with reason "truncated"
    And "zero.jpg" is in quarantine with reason "empty_file"
    And the library holds exactly 0 files
    And the inbox is empty

  Scenario: A file still being written is not touched
    Given a photo "slow/IMG_0002.JPG" is being written slowly into the inbox
    When the librarian runs once while the writer is still writing
    Then the library copy of "IMG_0002.JPG" is byte-identical to the finished file
    And the inbox is empty
