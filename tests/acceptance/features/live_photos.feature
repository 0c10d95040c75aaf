Feature: A Live Photo stays one moment
  An iPhone writes a Live Photo as two files: the still and a short video. Photo Factory keeps
  them together: filed side by side under one name, recorded as one group, each still its own
  asset (thumbnail, backup) — even when the video arrives later or the name is taken.

  Scenario: A Live Photo's still and video are filed as one moment
    Given the Live Photo "IMG_0001.HEIC" with its video "IMG_0001.MOV" is in the inbox
    When the librarian runs once
    Then the library holds "Library/2024/2024-01-31/IMG_0001.HEIC" and "Library/2024/2024-01-31/IMG_0001.MOV"
    And they are one "live_photo" group with the still as its primary
    And "photo-factory assets --json" shows both with the same group
    And the inbox is empty

  Scenario: The video arrives after its still was filed, and the name was taken
    Given the library already holds another file named "IMG_0001.HEIC" and "IMG_0001.MOV" on that day
    And only the still "IMG_0001.HEIC" of the Live Photo is in the inbox
    And the librarian has run once
    And its video "IMG_0001.MOV" arrives in another folder
    When the librarian runs once
    Then the library holds "Library/2024/2024-01-31/IMG_0001_1.HEIC" and "Library/2024/2024-01-31/IMG_0001_1.MOV"
    And they are one "live_photo" group with the still as its primary

  Scenario: A same-name video from another day is not part of the photo
    Given the photo "IMG_0004.JPG" of 2024-01-31 and the video "IMG_0004.MOV" of 2024-02-05 are in the inbox
    When the librarian runs once
    Then no group is recorded
