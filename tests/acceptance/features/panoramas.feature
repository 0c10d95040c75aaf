Feature: Panoramas
  Photo Factory finds the shots of a panorama sweep among the photos it files and stitches them
  into one picture under Derivatives/panoramas/, linked to its shots. The shots are never changed.

  Scenario: Three overlapping shots become a panorama
    Given three overlapping shots taken 2 seconds apart with one camera in the inbox folder "DCIM/Camera"
    When the librarian and the stitcher have run
    Then there is 1 stitched panorama under "Derivatives/panoramas"
    And the panorama is an image asset linked to its 3 shots
    And every filed photo is unchanged

  Scenario: Unrelated shots stay separate
    Given three unrelated shots taken 2 seconds apart with one camera in the inbox folder "DCIM/Camera"
    When the librarian and the stitcher have run
    Then there is no stitched panorama
    And the candidate set is recorded as rejected because of "no_overlap"
    And every filed photo is unchanged

  Scenario: Shots dropped together in a pano folder form a panorama whatever their times
    Given three overlapping shots taken 90 seconds apart with one camera in the inbox folder "Pano lake"
    When the librarian and the stitcher have run
    Then there is 1 stitched panorama under "Derivatives/panoramas"
    And the panorama was found by "folder"
