Feature: Thumbnails and video posters
  Every filed photo and video gets a small grid thumbnail and a large preview, made by the
  thumbnail worker; a file it cannot read is shown as failed with its reason and can be retried.

  Scenario: a dropped photo gets its thumbnails
    Given a photo "DCIM/IMG_0001.JPG" taken sideways in the inbox
    When the librarian and the thumbnail worker have run
    Then the photo has an upright thumbnail of 256 px and a preview of 1440 px
    And the photo is marked as thumbnailed

  Scenario: a dropped video gets a poster
    Given a video "DCIM/VID_0001.MP4" that starts with a black second in the inbox
    When the librarian and the thumbnail worker have run
    Then the video has a poster that is not a black frame

  Scenario: a broken file is shown as failed with its reason and can be retried
    Given a filed photo whose file is truncated
    When the thumbnail worker has run
    Then the photo is listed as failed with reason "truncated_file"
    And the original file is unchanged
    When the file is repaired and the failed items are retried
    And the thumbnail worker has run
    Then the photo is marked as thumbnailed

  Scenario: four workers share a queue without doing anything twice
    Given 120 filed photos waiting for thumbnails
    When four thumbnail workers run at the same time
    Then every photo was thumbnailed exactly once
