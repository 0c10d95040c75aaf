Feature: Sidecars travel with their photos
  Editors write XMP files, iPhones AAE files and Google Takeout a JSON file for every photo. The
  librarian files each one beside its photo under the photo's final name, reads the dates they
  hold, and keeps a sidecar whose photo has not come yet until it does.

  Scenario: A Takeout export is filed by its real dates
    Given a Google Takeout export of an album is in the inbox
    When the librarian runs once
    Then every photo is filed on the day its Takeout JSON says, with date source "takeout:photoTakenTime"
    And every Takeout JSON lies beside its photo
    And nothing is quarantined
    And the inbox is empty

  Scenario: An edited photo keeps its sidecar
    Given a photo "IMG_1.JPG" taken on "2024:05:01 10:00:00" was filed before
    And an edited "IMG_1.JPG" taken on "2024:05:01 10:00:00" arrives with its XMP "IMG_1.xmp" dated "2024:05:01 11:00:00"
    When the librarian runs once
    Then the library holds "Library/2024/2024-05-01/IMG_1_1.JPG" and its sidecar "Library/2024/2024-05-01/IMG_1_1.xmp"
    And the inbox is empty

  Scenario: A sidecar that arrives first waits for its photo
    Given only the sidecar "Trip/IMG_7.JPG.xmp" dated "2022:08:08 08:08:08" is in the inbox
    When the librarian runs once
    Then "Trip/IMG_7.JPG.xmp" is still in the inbox and nothing is quarantined
    When the photo "Trip/IMG_7.JPG" arrives and the librarian runs once
    Then the library holds "Library/2022/2022-08-08/IMG_7.JPG" and its sidecar "Library/2022/2022-08-08/IMG_7.JPG.xmp"
    And the inbox is empty
